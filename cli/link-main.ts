/**
 * Stand-alone entry for `mpi link` (the full `mpi` program registers the same command): lets the benchmarks
 * run the link pipeline as its own process before and apart from the rest of the CLI.
 *   node --import tsx cli/link-main.ts link --out clusters.csv input.csv
 */
import { Command } from 'commander';
import { registerLinkCommand } from './link.ts';

const program = new Command('mpi').description('Master patient index: batch linkage');
registerLinkCommand(program);
await program.parseAsync(process.argv);
