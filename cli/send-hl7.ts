import { connectMllp, Hl7ImportError, importHl7File, type Hl7ImportSummary } from '../interop/index.ts';
import { CliError } from './errors.ts';

export interface SendHl7Options {
  files: string[];
  host: string;
  port: number;
  /** Called with each ACK (its segments joined by newlines). */
  onAck?: (ack: string, messageNumber: number) => void;
}

/**
 * Sends the ADT messages of HL7 files (plain text or MLLP-framed) to a running listener over one MLLP connection,
 * in order, waiting for each ACK. The counts say how many were accepted (AA), had errors (AE) or were rejected (AR).
 */
export async function sendHl7Files(options: SendHl7Options): Promise<Hl7ImportSummary> {
  let client;
  try {
    client = await connectMllp(options.host, options.port);
  } catch (error) {
    throw new CliError(`cannot reach the MLLP listener at ${options.host}:${options.port}: ${(error as Error).message}`);
  }
  const total: Hl7ImportSummary = { messages: 0, accepted: 0, errors: 0, rejected: 0 };
  try {
    for (const file of options.files) {
      let n = total.messages;
      const summary = await importHl7File(file, async (message) => {
        const ack = await client.send(message);
        options.onAck?.(ack.replace(/\r/g, '\n'), ++n);
        return ack;
      }).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`input file not found: ${file}`);
        if (error instanceof Hl7ImportError)
          throw new CliError(`${file}: message ${error.messageNumber} got no ACK: ${(error.cause as Error).message}`);
        throw error;
      });
      for (const key of Object.keys(total) as Array<keyof Hl7ImportSummary>) total[key] += summary[key];
    }
  } finally {
    await client.close();
  }
  return total;
}

/** `mpi send-hl7 FILES…`: prints each ACK (unless quiet) and a summary; exit 1 when any message was not accepted. */
export async function sendHl7Command(files: string[], opts: { host: string; port: number; quiet?: boolean }): Promise<void> {
  const summary = await sendHl7Files({
    files,
    host: opts.host,
    port: opts.port,
    ...(opts.quiet ? {} : { onAck: (ack: string) => process.stdout.write(`${ack}\n\n`) }),
  });
  process.stderr.write(
    `sent ${summary.messages} messages: ${summary.accepted} accepted (AA), ${summary.errors} errors (AE), ${summary.rejected} rejected (AR)\n`,
  );
  if (summary.accepted < summary.messages) process.exitCode = 1;
}
