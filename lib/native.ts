// Loads the addon (a prebuild, or build/Release after a source build) and
// finds the helper executable shipped beside it.
import fs from 'fs';
import path from 'path';

export interface SpawnResult {
  pid: number;
  pidfd: number;
  errorFd: number;
  pipes: [number, number, number];
}

/** The addon's surface; see native/binding.cc. Errors carry `errno` and `syscall`. */
export interface Binding {
  spawn(helper: string, plan: Buffer, fds: number[], ownProcessGroup: boolean): SpawnResult;
  setExitHandler(fn: (id: number, code: number, signal: number) => void): void;
  watch(pidfd: number, id: number): void;
  ref(): void;
  unref(): void;
  kill(pidfd: number, signal: number): number;
  close(fd: number): void;
  renameat2(from: string, to: string, flags: number): number;
  landlockAbi(): { abi: number; errata: number };
}

const root = path.join(__dirname, '..');
let loaded: { binding: Binding; helper: string } | undefined;

function loadError(reason: string, fix: string): Error {
  const err = new Error(`sbx-native could not load its native part: ${reason}\n  fix: ${fix}`);
  (err as NodeJS.ErrnoException).code = 'SBX_LOAD_FAILED';
  return err;
}

export function native(): { binding: Binding; helper: string } {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    throw loadError(`${process.platform} is not supported: sbx-native is Linux-only (it uses user namespaces and Landlock)`,
      'on macOS use sandbox-exec based tools (e.g. @anthropic-ai/sandbox-runtime); on Windows use WSL2');
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const gypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  let file: string;
  try {
    file = gypBuild.resolve(root);
  } catch (e) {
    throw loadError(`no prebuilt binary for linux-${process.arch} and no local build (${(e as Error).message.split('\n')[0]})`,
      'build from source: `npm rebuild sbx-native --build-from-source` (needs g++, make, python3)');
  }
  const helper = path.join(path.dirname(file), 'sbx-helper');
  try {
    fs.accessSync(helper, fs.constants.X_OK);
  } catch {
    throw loadError(`the helper ${helper} is missing or not executable (a noexec mount?)`,
      'reinstall the package on a filesystem mounted without noexec');
  }
  loaded = { binding: require(file) as Binding, helper };
  return loaded;
}
