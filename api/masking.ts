import { CANONICAL_FIELDS, type CanonicalField } from '../matching/index.ts';
import { defaultFieldResolver, GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { holds, PERMISSIONS } from '../platform/roles.ts';
import type { Principal, RequestContext, Role } from './context.ts';

/** Patient demographic fields the API can return: the canonical record fields and golden record fields. */
export const PHI_FIELDS = CANONICAL_FIELDS;
export type PhiField = CanonicalField;

/** Roles that need full demographics to do their work (deciding whether two records are one patient). */
export const FULL_PHI_ROLES: readonly Role[] = [...PERMISSIONS.seeFullPhi, 'admin'];

/** What a masked value shows instead of the data: only that a value exists. */
export const MASK = '***';

type Masker = (value: string) => string | null;

const initial: Masker = (v) => {
  const first = [...v.trim()][0];
  return first ? `${first.toUpperCase()}.` : MASK;
};
const hidden: Masker = () => MASK;

/**
 * How each field is shown to roles without full access. Follows the HIPAA Safe Harbor list of identifiers
 * (45 CFR 164.514(b)(2)): dates reduced to the year, geography to the state and the first three postal digits,
 * direct identifiers (names, numbers, contact details, street address) removed. Names keep an initial and the
 * SSN its last four digits, the usual display for confirming a record by phone, as the issue asks.
 */
export const MASKING_POLICY: Record<PhiField, Masker> = {
  givenName: initial,
  middleName: initial,
  familyName: initial,
  suffix: hidden,
  sex: (v) => v,
  birthDate: (v) => /^\d{4}/.exec(v)?.[0] ?? MASK,
  ssn: (v) => {
    const digits = v.replace(/\D/g, '');
    return digits.length >= 4 ? `***-**-${digits.slice(-4)}` : MASK;
  },
  phone: hidden,
  email: hidden,
  addressLine1: hidden,
  addressLine2: hidden,
  city: hidden,
  state: (v) => v,
  postalCode: (v) => {
    const digits = v.replace(/\D/g, '');
    return digits.length >= 3 ? `${digits.slice(0, 3)}**` : MASK;
  },
};

/** Whether this caller may see demographics unmasked. */
export function seesFullPhi(principal: Principal | null): boolean {
  return principal !== null && holds(principal.roles, 'seeFullPhi');
}

/** Applies the masking policy to one value (null stays null: absence is not hidden). */
export function maskPhi(field: PhiField, value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return value ?? null;
  return MASKING_POLICY[field](value);
}

/**
 * The one gate every patient demographic passes on its way to a client: full for stewards and admins,
 * masked for everyone else. Resolvers call it for each PHI field they return.
 */
export function presentPhi(ctx: Pick<RequestContext, 'principal'>, field: PhiField, value: string | null | undefined): string | null {
  if (seesFullPhi(ctx.principal)) return value ?? null;
  return maskPhi(field, value);
}

/** What a field declares about the PHI it returns: the canonical field, fixed or named by its parent object. */
export type PhiSource = PhiField | ((parent: never) => string | null | undefined);

/** Field options that mark a GraphQL field as PHI; `enforceMasking` masks it for every role without full access. */
export function phi(source: PhiSource): { extensions: { phi: PhiSource } } {
  return { extensions: { phi: source } };
}

/** Every field of the schema marked as PHI, as `Type.field`. */
export function phiFieldsOf(schema: GraphQLSchema): string[] {
  const found: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) if (field.extensions.phi) found.push(`${type.name}.${field.name}`);
  }
  return found.sort();
}

const enforced = new WeakSet<GraphQLSchema>();

/**
 * The one gate between patient values and a client: wraps the resolver of every field marked with `phi(...)`
 * so its value passes `presentPhi` (full for stewards and admins, masked for everyone else), whatever the
 * resolver or the object it reads from. A value whose field is not a known canonical field is hidden entirely.
 */
export function enforceMasking(schema: GraphQLSchema): void {
  if (enforced.has(schema)) return;
  enforced.add(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const source = field.extensions.phi as PhiSource | undefined;
      if (!source) continue;
      const resolve = field.resolve ?? defaultFieldResolver;
      const present = (parent: unknown, ctx: RequestContext, value: unknown): string | null => {
        const name = typeof source === 'function' ? (source as (p: unknown) => string | null | undefined)(parent) : source;
        const text = value === null || value === undefined ? null : String(value);
        if (seesFullPhi(ctx.principal)) return text;
        return name && (PHI_FIELDS as readonly string[]).includes(name) ? maskPhi(name as PhiField, text) : text === null ? null : MASK;
      };
      field.resolve = (parent, args, ctx: RequestContext, info) => {
        const value: unknown = resolve(parent, args, ctx, info);
        return value instanceof Promise ? value.then((v) => present(parent, ctx, v)) : present(parent, ctx, value);
      };
    }
  }
}
