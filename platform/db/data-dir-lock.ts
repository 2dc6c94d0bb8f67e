import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { DomainError } from '../errors.ts';

/**
 * One process at a time may open an embedded (PGlite) data directory: PGlite is a single-process database,
 * and a second writer corrupts it or loses writes. The holder writes `mpi.lock` into the directory (created
 * exclusively, mode 0600) with its pid and, for the server, where it listens and a per-run admin token with
 * which `mpi` administration commands go through the server's API instead of opening the files themselves.
 * A lock whose process is gone is stale and taken over.
 */
export const LOCK_FILE = 'mpi.lock';

export interface DataDirLockInfo {
  pid: number;
  /** `server` once the HTTP server listens; `cli` for a command that opened the files itself. */
  holder: 'server' | 'cli';
  startedAt: string;
  /** Where the server listens, e.g. `http://127.0.0.1:4000`. */
  url?: string;
  /** Admin credential for this run only, for `mpi` commands run by the same user on this machine. */
  adminToken?: string;
}

/** The data directory is held by another live process. */
export class DataDirLockedError extends DomainError {
  readonly holder: DataDirLockInfo;

  constructor(dataDir: string, holder: DataDirLockInfo) {
    const who =
      holder.holder === 'server'
        ? `the MPI server (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''})`
        : `another mpi command (pid ${holder.pid})`;
    super(
      'DATA_DIR_LOCKED',
      `The embedded database in ${dataDir} is in use by ${who}. One process at a time may open it: ` +
        'stop that process first, point this one at another MPI_DATA_DIR, or use PostgreSQL (DATABASE_URL). ' +
        '`mpi keys` and the other admin commands go through a running server by themselves.',
    );
    this.holder = holder;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long a lock file may stay unreadable before it counts as stale: its writer is between create and write. */
const BEING_WRITTEN_MS = 5_000;

/** The lock file exists but cannot be read yet, and is fresh: another process has just created it. */
function beingWritten(path: string): boolean {
  try {
    JSON.parse(readFileSync(path, 'utf8'));
    return false;
  } catch {
    try {
      return Date.now() - statSync(path).mtimeMs < BEING_WRITTEN_MS;
    } catch {
      return false;
    }
  }
}

/** The live holder of a data directory, or null when nobody (alive) holds it. */
export function readDataDirLock(dataDir: string): DataDirLockInfo | null {
  let info: DataDirLockInfo;
  try {
    info = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as DataDirLockInfo;
  } catch {
    return null;
  }
  return typeof info.pid === 'number' && isAlive(info.pid) ? info : null;
}

export interface DataDirLock {
  readonly info: DataDirLockInfo;
  /** Records that the server listens at `url`, with a fresh admin token for local `mpi` commands. */
  publishServer(url: string): DataDirLockInfo;
  release(): void;
}

/** Takes the data directory for this process, or throws DataDirLockedError naming the live holder. */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  let info: DataDirLockInfo = { pid: process.pid, holder: 'cli', startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt += 1) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeFileSync(fd, JSON.stringify(info));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 200) throw error;
      const holder = readDataDirLock(dataDir);
      if (holder && holder.pid !== process.pid) throw new DataDirLockedError(dataDir, holder);
      // Created by another process that has not written it yet: wait for its holder's pid rather than take it over.
      if (!holder && beingWritten(path)) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        continue;
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  const write = (next: DataDirLockInfo) => {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(next), { mode: 0o600 });
    renameSync(tmp, path);
    info = next;
    return next;
  };
  return {
    get info() {
      return info;
    },
    publishServer: (url) => write({ ...info, holder: 'server', url, adminToken: `mpi_local_${randomBytes(24).toString('base64url')}` }),
    release: () => {
      if (readDataDirLock(dataDir)?.pid === process.pid) rmSync(path, { force: true });
    },
  };
}
