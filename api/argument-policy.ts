import {
  getNamedType,
  GraphQLError,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  TypeInfo,
  valueFromASTUntyped,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ValidationError, type FieldProblem } from '../platform/errors.ts';
import { textProblem } from '../matching/index.ts';

/** An argument of an operation (not of a directive): its declared type, its name and its value as written. */
interface ArgumentSite {
  type: GraphQLInputType;
  name: string;
  value: ValueNode;
}

/** Argument sites per schema and document: parsed documents are cached and reused, so each is visited once. */
const sitesCache = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, ArgumentSite[]>>();

function argumentSites(schema: GraphQLSchema, document: DocumentNode): ArgumentSite[] {
  let bySchema = sitesCache.get(schema);
  if (!bySchema) sitesCache.set(schema, (bySchema = new WeakMap()));
  const cached = bySchema.get(document);
  if (cached) return cached;
  const sites: ArgumentSite[] = [];
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument: (node) => {
        const argument = typeInfo.getArgument();
        if (!argument || typeInfo.getDirective()) return;
        sites.push({ type: argument.type, name: node.name.value, value: node.value });
      },
    }),
  );
  bySchema.set(document, sites);
  return sites;
}

/**
 * Every String and ID value among the arguments of an operation, literal or variable, nested in input objects
 * and lists, with its place (`input[1].familyName`, `filter.source`): what the character policy checks.
 */
function textArguments(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
): Array<{ path: string; value: string }> {
  const found: Array<{ path: string; value: string }> = [];
  const walk = (type: GraphQLInputType, value: unknown, path: string): void => {
    if (value === null || value === undefined) return;
    if (isNonNullType(type)) return walk(type.ofType, value, path);
    if (isListType(type)) {
      // A single value given for a list is coerced to a list of one (GraphQL input coercion).
      if (Array.isArray(value)) value.forEach((item, i) => walk(type.ofType, item, `${path}[${i}]`));
      else walk(type.ofType, value, path);
      return;
    }
    if (isInputObjectType(type)) {
      if (typeof value !== 'object') return;
      const fields = type.getFields();
      for (const [name, child] of Object.entries(value as Record<string, unknown>)) {
        const field = fields[name];
        if (field) walk(field.type, child, `${path}.${name}`);
      }
      return;
    }
    const named = getNamedType(type);
    if ((named.name === 'String' || named.name === 'ID') && typeof value === 'string') found.push({ path, value });
  };
  for (const site of argumentSites(schema, document)) {
    const value = site.value.kind === Kind.VARIABLE ? variables[site.value.name.value] : valueFromASTUntyped(site.value, variables);
    walk(site.type, value, site.name);
  }
  return found;
}

/** The refusal of an operation whose arguments break the character policy, or null when every one passes. */
function policyError(args: { schema: GraphQLSchema; document: DocumentNode; variableValues?: unknown }): GraphQLError | null {
  const variables = (args.variableValues ?? {}) as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  for (const { path, value } of textArguments(args.schema, args.document, variables)) {
    const problem = textProblem(value, { lineBreaks: true });
    if (problem) problems.push({ field: path, ...problem });
  }
  if (problems.length === 0) return null;
  const error = new ValidationError(problems);
  return new GraphQLError(error.message, { extensions: { code: error.code, field: error.field, problems } });
}

/**
 * Applies the service's character policy (matching/text-policy.ts) to every String and ID argument before the
 * operation runs: a NUL, control, bidirectional-control or invisible character, or an unpaired surrogate, is
 * refused with VALIDATION_FAILED naming each argument (`problems[].code` INVALID_CHARACTERS), and nothing runs.
 * Tabs and line breaks pass here (free-text reasons and descriptions); single-line fields refuse them themselves.
 */
export function useArgumentPolicy(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = policyError(args);
      if (error) setResultAndStopExecution({ data: null, errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = policyError(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
