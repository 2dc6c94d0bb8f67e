import { CliError } from './errors.ts';
import { rolesFor } from './permissions.ts';

/** One record as `ingestRecords` takes it (SourceRecordInput). */
export type IngestInput = { source: string; localId: string } & Record<string, string | null>;

/** A field problem the server reported for one record of a batch. */
export interface BatchProblem {
  index: number;
  field: string;
  code: string;
  message: string;
}

export type BatchResult = { ok: true; outcomes: string[] } | { ok: false; problems: BatchProblem[] };

interface GraphqlError {
  message?: string;
  extensions?: { code?: string; problems?: Array<{ field?: string; code?: string; message?: string }> };
}

const INGEST_RECORDS =
  'mutation ImportBatch($input: [SourceRecordInput!]!, $run: ID) { ingestRecords(input: $input, runId: $run) { outcome } }';
const START_RUN = 'mutation StartRun($source: String!, $job: String!) { startIngestRun(source: $source, job: $job) { id } }';
const FINISH_RUN =
  'mutation FinishRun($id: ID!, $status: IngestRunStatus, $errors: [IngestRunErrorInput!]) { finishIngestRun(id: $id, status: $status, errors: $errors) { id } }';
const REGISTER_SOURCE = 'mutation RegisterSource($input: RegisterSourceInput!) { registerSource(input: $input) { code } }';
/** Attempts at one batch when the server asks the client to slow down (429). */
const MAX_RATE_LIMIT_RETRIES = 5;
/** `input[12].birthDate` -> 12, `birthDate`. */
const PROBLEM_FIELD = /^input\[(\d+)\]\.?(.*)$/;

/** The GraphQL API of a running server, for `mpi import`. */
export class IngestClient {
  constructor(
    private readonly url: string,
    private readonly key: string | undefined,
    private readonly fetchFn: typeof fetch = fetch,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /**
   * Sends one batch. The server validates every record first and stores nothing when one is invalid; then the
   * result names the invalid records (by index in the batch) so the caller can drop them and resend the rest.
   * Anything else the server refuses (credentials, unknown source) is a CliError.
   */
  async ingestBatch(input: IngestInput[], runId: string | null = null): Promise<BatchResult> {
    const body = await this.post({ query: INGEST_RECORDS, variables: { input, run: runId } });
    const errors = body.errors ?? [];
    if (errors.length === 0) {
      const rows = body.data?.ingestRecords;
      if (!Array.isArray(rows) || rows.length !== input.length)
        throw new CliError('the server answered ingestRecords without a result per record');
      return { ok: true, outcomes: rows.map((r: { outcome: string }) => r.outcome) };
    }
    const first = errors[0]!;
    const problems = first.extensions?.code === 'VALIDATION_FAILED' ? recordProblems(first) : null;
    if (problems && problems.length > 0) return { ok: false, problems };
    throw refusal(first);
  }

  /** Records the import as an ingest run (lineage); returns its id. */
  async startRun(source: string, job: string): Promise<string> {
    const body = await this.post({ query: START_RUN, variables: { source, job } });
    const id = (body.data?.startIngestRun as { id?: string } | undefined)?.id;
    if (body.errors?.length || !id) throw refusal(body.errors?.[0] ?? { message: 'no run id in the answer' });
    return id;
  }

  /** Ends the run with the rows that could not be loaded (line, field, code, message: never values). */
  async finishRun(
    id: string,
    status: 'COMPLETED' | 'FAILED',
    errors: Array<{ line: number; field: string; code: string; message: string }>,
  ): Promise<void> {
    const body = await this.post({ query: FINISH_RUN, variables: { id, status, errors } });
    if (body.errors?.length) throw refusal(body.errors[0]!);
  }

  /** Registers a source; one already registered is left as it is. */
  async registerSource(input: { code: string; name: string; kind: string; trustRank: number }): Promise<void> {
    const body = await this.post({ query: REGISTER_SOURCE, variables: { input } });
    const failure = body.errors?.[0];
    if (failure && failure.extensions?.code !== 'SOURCE_EXISTS') throw refusal(failure);
  }

  /** Runs a query and picks a number out of its data (e.g. a connection's `totalCount`). */
  async count(query: string, pick: (data: Record<string, unknown>) => number): Promise<number> {
    const body = await this.post({ query });
    if (body.errors?.length || !body.data) throw refusal(body.errors?.[0] ?? { message: 'no data in the answer' });
    return pick(body.data);
  }

  private async post(
    payload: unknown,
    attempt = 1,
  ): Promise<{ data?: Record<string, unknown> & { ingestRecords?: unknown }; errors?: GraphqlError[] }> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
    };
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    let response: Response;
    try {
      response = await this.fetchFn(this.url, { method: 'POST', headers, body: JSON.stringify(payload) });
    } catch (error) {
      throw new CliError(
        `cannot reach the server at ${this.url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
      );
    }
    if (response.status === 429 && attempt <= MAX_RATE_LIMIT_RETRIES) {
      await response.arrayBuffer();
      await this.sleep(Math.max(1, Number(response.headers.get('retry-after')) || 1) * 1000);
      return this.post(payload, attempt + 1);
    }
    const text = await response.text();
    try {
      return JSON.parse(text) as { data?: Record<string, unknown>; errors?: GraphqlError[] };
    } catch {
      throw new CliError(`the server at ${this.url} answered HTTP ${response.status} without a GraphQL response`);
    }
  }
}

function recordProblems(error: GraphqlError): BatchProblem[] | null {
  const out: BatchProblem[] = [];
  for (const p of error.extensions?.problems ?? []) {
    const match = PROBLEM_FIELD.exec(p.field ?? '');
    // A problem not about one record (e.g. the batch size) cannot be fixed by dropping rows.
    if (!match) return null;
    out.push({ index: Number(match[1]), field: match[2] || 'record', code: p.code ?? 'INVALID', message: p.message ?? 'invalid value' });
  }
  return out;
}

function refusal(error: GraphqlError): CliError {
  const code = error.extensions?.code ?? 'ERROR';
  const hint: Record<string, string> = {
    UNAUTHENTICATED: ' (pass --key or set MPI_API_KEY)',
    FORBIDDEN: ` (the key needs the ${rolesFor('import')} role)`,
    UNKNOWN_SOURCE: ' (register the source first, e.g. with the registerSource mutation)',
  };
  return new CliError(`the server refused the import: ${code}: ${error.message ?? 'no message'}${hint[code] ?? ''}`);
}
