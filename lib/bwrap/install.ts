// `sbx-native bwrap --install DIR`: writes DIR/bwrap, a small sh script that
// answers `--help` and `--version` itself (the probes Codex and
// sandbox-runtime make on every command, without starting Node) and execs
// Node on the front end for everything else (`node dist/cli-entry.js bwrap
// ARGS`). It names Node and sbx-native by absolute real paths, so PATH inside
// or outside a sandbox changes nothing.
import fs from 'fs';
import path from 'path';
import { HELP, VERSION } from './help';
import { codexVerdict } from './codex-accept';
import { stashLines } from './shim-env';

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The shim's text for this Node and this copy of sbx-native. */
export function shimText(
  node = fs.realpathSync(process.execPath),
  entry = fs.realpathSync(path.join(__dirname, '..', 'cli-entry.js')),
): string {
  const help = HELP('%s').replace(/%(?!s)/g, '%%');
  return `#!/bin/sh
# bubblewrap-compatible front end of sbx-native, written by \`sbx-native bwrap --install\`.
# --help and --version are answered here; everything else runs sbx-native.
case "$1" in
  --version) printf '%s' ${sq(VERSION)}; exit 0 ;;
  --help) printf ${sq(help)} "$0"; exit 0 ;;
esac
# The fds the caller left open for the command, by number (Node marks some of
# them close-on-exec at start-up, so it cannot tell them from its own later).
SBX_BWRAP_FDS=
for f in /proc/$$/fd/*; do
  n=\${f##*/}
  case $n in 0|1|2) continue ;; esac
  [ -e "$f" ] || continue
  [ "$f" -ef "$0" ] && continue
  SBX_BWRAP_FDS="$SBX_BWRAP_FDS$n,"
done
export SBX_BWRAP_FDS
# This script's own path: kept read-only in the sandbox it starts, wherever it lies.
SBX_BWRAP_SELF=$0
export SBX_BWRAP_SELF
# Who started it: with --die-with-parent, a parent that died while Node was starting still counts.
SBX_BWRAP_PARENT=$PPID
export SBX_BWRAP_PARENT
# Node's own start-up variables wait aside for the command (cli-entry.ts).
# Node runs the entry itself (not a file that requires it): one module fewer to resolve and compile.
${stashLines()}exec ${sq(node)} ${sq(entry)} bwrap "$@"
`;
}

function problem(message: string): never {
  process.stderr.write(`sbx-native: bwrap --install: ${message}\n`);
  process.exit(2);
}

export function installMain(argv: string[]): void {
  if (argv.length !== 1) problem('expected one argument: the directory to write bwrap into (for example /usr/local/bin)');
  const dir = path.resolve(argv[0]);
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) problem(`${dir}: not a directory`);
  const uid = process.getuid!();
  // What a later sandbox runs must not be writable by anyone a sandbox could act as.
  if ((st.mode & 0o022) !== 0 && !(st.mode & 0o1000))
    problem(`${dir}: writable by others (mode ${(st.mode & 0o7777).toString(8)}): a sandboxed command could replace bwrap there`);
  if (st.uid !== 0 && st.uid !== uid) problem(`${dir}: owned by uid ${st.uid}, neither root nor you`);
  const file = path.join(dir, 'bwrap');
  const tmp = path.join(dir, `.bwrap.sbx-native-${process.pid}`);
  fs.writeFileSync(tmp, shimText(), { mode: 0o755, flag: 'wx' });
  try {
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  process.stdout.write(`wrote ${file}\n`);
  const v = codexVerdict(file, { cwd: process.cwd(), env: process.env });
  process.stdout.write(
    v.accepted
      ? `Codex would use it (first on PATH: ${v.onPath ? 'yes' : 'no, put ' + dir + ' first on PATH'})\n`
      : `Codex would not use it: ${v.reasons.join('; ')}\n`,
  );
}
