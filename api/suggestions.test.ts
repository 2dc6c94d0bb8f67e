import { GraphQLError } from 'graphql';
import { describe, expect, test } from 'vitest';
import { withoutSuggestions } from './errors.ts';

describe('schema suggestions', () => {
  test('drops "Did you mean" from a validation message, keeping the problem', () => {
    const error = withoutSuggestions(
      new GraphQLError('Value "STEWAR" does not exist in "Role" enum. Did you mean the enum value "STEWARD"?', {
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      }),
    );
    expect(error.message).toBe('Value "STEWAR" does not exist in "Role" enum.');
    expect((error as GraphQLError).extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
