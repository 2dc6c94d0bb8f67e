import { isPortError, problemsOf } from '../ports.ts';
import type { FhirEnv } from './handler.ts';
import { fhirJson, readJson } from './http-io.ts';
import { errorIssue, FhirError } from './operation-outcome.ts';
import { parseSubscription, subscriptionResource } from './subscription.ts';

/** Where the port's field names point in a Subscription. */
const SUBSCRIPTION_PATH: Record<string, string> = { url: 'Subscription.channel.endpoint', eventTypes: 'Subscription.criteria' };

/** Subscription create, read and delete (rest-hook, the patient-links topic). */
export function subscriptionRest<C>(env: FhirEnv<C>) {
  return {
    async create(request: Request, context: C, baseUrl: string): Promise<Response> {
      const input = parseSubscription(await readJson(request, env.maxBodyBytes));
      try {
        const view = await env.port.createSubscription(context, { ...input, baseUrl });
        return fhirJson(201, subscriptionResource(view), { Location: `${baseUrl}/Subscription/${view.id}` });
      } catch (error) {
        // A refused endpoint URL names the Subscription element, not the port's field.
        if (isPortError(error) && error.code === 'VALIDATION_FAILED') {
          const issues = problemsOf(error).map((p) => errorIssue('value', p.message, SUBSCRIPTION_PATH[p.field] ?? 'Subscription'));
          throw new FhirError(422, issues.length > 0 ? issues : [errorIssue('value', error.message, 'Subscription')]);
        }
        throw error;
      }
    },

    async read(id: string, context: C): Promise<Response> {
      const view = await env.port.readSubscription(context, id);
      if (!view) throw new FhirError(404, [errorIssue('not-found', 'no such Subscription')]);
      return fhirJson(200, subscriptionResource(view));
    },

    async remove(id: string, context: C): Promise<Response> {
      if (!(await env.port.deleteSubscription(context, id))) throw new FhirError(404, [errorIssue('not-found', 'no such Subscription')]);
      return new Response(null, { status: 204 });
    },
  };
}
