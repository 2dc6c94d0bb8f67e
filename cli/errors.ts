import { DomainError } from '../platform/errors.ts';

/** A user-facing CLI failure: printed as `error: <message>` with exit status 2. */
export class CliError extends DomainError {
  constructor(message: string, field?: string) {
    super('CLI_ERROR', message, field === undefined ? undefined : { field });
  }
}

/** Runs a command action, turning expected failures into a one-line message and exit code 2. */
export function action<A extends unknown[]>(run: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      if (error instanceof DomainError) {
        process.stderr.write(`error: ${error.message}\n`);
        process.exit(2);
      }
      throw error;
    }
  };
}
