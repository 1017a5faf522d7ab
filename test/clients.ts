// Real client programs and native libraries the tests drive (node-pty, ...),
// installed from the npm registry into a cache outside the repository, once
// per machine, readable by every user (the suite runs again as `nobody`).
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

// What the tests run from here is code run unsandboxed (as root, in the root
// pass): the cache lives where no test's sandbox has a writable root (not
// /tmp), and an entry is used only when it and the directory above it belong
// to root or to this user and nobody else may write them.
const uid = process.getuid?.() ?? 0;
const sharedCache = '/var/cache/sbx-native-test-clients'; // made by the root pass, read by the nobody pass
const ownCache = path.join(os.tmpdir(), `sbx-native-clients-${uid}`); // a user who cannot write /var/cache: private to it

function trusted(p: string): boolean {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  return !!st && st.isDirectory() && (st.uid === 0 || st.uid === uid) && (st.mode & 0o022) === 0;
}

function cacheFor(name: string): string {
  if (process.env.SBX_TEST_CLIENTS) return process.env.SBX_TEST_CLIENTS;
  if (uid === 0 || (trusted(sharedCache) && trusted(path.join(sharedCache, name)))) return sharedCache;
  return ownCache;
}

/** Node's headers for node-gyp without a download (the machines reach no nodejs.org): the same search as scripts/build-native.js. */
function nodedir(): string | undefined {
  for (const dir of [process.env.npm_config_nodedir, '/usr', path.join(path.dirname(process.execPath), '..')]) {
    if (dir && fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return undefined;
}

/**
 * The directory holding node_modules/<name> at `version`, or why it could not
 * be installed. Packages with install scripts (node-pty builds its addon) are
 * allowed to run them.
 */
export function installNpmPackage(name: string, version: string): { dir: string } | { why: string } {
  return cached(`${name.replace('/', '+')}@${version}`, (tmp) => {
    fs.writeFileSync(
      path.join(tmp, 'package.json'),
      JSON.stringify({ name: 'sbx-test-client', private: true, allowScripts: { [name]: true } }),
    );
    const env = { ...process.env, npm_config_nodedir: nodedir() ?? '', npm_config_update_notifier: 'false' };
    const r = spawnSync('npm', ['install', `${name}@${version}`, '--no-audit', '--no-fund', '--foreground-scripts'], {
      cwd: tmp,
      env,
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (r.status !== 0)
      return { why: `npm install ${name}@${version} failed: ${(r.stderr || r.error?.message || '').split('\n').slice(-5).join(' ')}` };
    return { ok: true };
  });
}

/** node-pty from the client cache, or why it is missing. */
export function nodePty(): { pty: any } | { why: string } {
  const r = installNpmPackage('node-pty', '1.1.0');
  return 'why' in r ? r : { pty: require(path.join(r.dir, 'node_modules', 'node-pty')) };
}

/** The Python the PyPI clients run with: the system's, which every user can read (a pyenv under /root is not). */
export const systemPython = '/usr/bin/python3';

function pip(args: string[], cwd: string): { ok: true } | { why: string } {
  const env = {
    ...process.env,
    PIP_ROOT_USER_ACTION: 'ignore',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_CACHE_DIR: '1',
    PIP_FIND_LINKS: '',
  };
  const r = spawnSync(systemPython, ['-m', 'pip', ...args], { cwd, env, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0)
    return { why: `pip ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').split('\n').filter(Boolean).slice(-5).join(' ')}` };
  return { ok: true };
}

/** Fills `name` in the client cache once: `fill(tmp)` writes into a fresh temp directory that is then published. */
function cached(name: string, fill: (tmp: string) => { ok: true } | { why: string }): { dir: string } | { why: string } {
  const base = cacheFor(name);
  const dir = path.join(base, name);
  fs.mkdirSync(base, { recursive: true, mode: 0o755 });
  if (!trusted(base))
    return { why: `${base} is not a directory owned by root or uid ${uid} that only its owner may write: not running code from it` };
  if (fs.existsSync(path.join(dir, '.complete'))) {
    if (trusted(dir)) return { dir };
    return { why: `${dir} is not owned by root or uid ${uid}, or others may write it: not running code from it (remove it)` };
  }
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    fs.chmodSync(tmp, 0o755);
    const r = fill(tmp);
    if ('why' in r) return r;
    fs.writeFileSync(path.join(tmp, '.complete'), '');
    try {
      fs.renameSync(tmp, dir);
    } catch {
      /* another run installed it meanwhile */
    }
    return { dir };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * A binary wheel from PyPI installed with `pip install --target` (uv ships its
 * binary that way): the directory holding bin/ and the package, or why not.
 */
export function installPyPIPackage(name: string, version: string): { dir: string } | { why: string } {
  return cached(`pypi-${name}@${version}`, (tmp) =>
    pip(['install', '--quiet', '--no-deps', '--only-binary=:all:', '--target', tmp, `${name}==${version}`], tmp),
  );
}

/** Wheels of pinned pure-Python packages from PyPI, downloaded once into a directory for offline installs (`--find-links`). */
export function pypiWheels(label: string, specs: string[]): { dir: string } | { why: string } {
  return cached(`pypi-wheels-${label}`, (tmp) =>
    pip(['download', '--quiet', '--no-deps', '--only-binary=:all:', '--dest', tmp, ...specs], tmp),
  );
}

/**
 * A tiny pure-Python wheel written by zipfile: package `name` with `main()`
 * printing `message`, and a console script `script` calling it.
 */
export function localToolWheel(name: string, version: string, script: string, message: string): { dir: string } | { why: string } {
  const src = `
import base64, hashlib, sys, zipfile
out, name, version, script, message = sys.argv[1:]
dist = f'{name}-{version}.dist-info'
files = {
  f'{name}/__init__.py': f'def main():\\n    print({message!r})\\n',
  f'{dist}/METADATA': f'Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n',
  f'{dist}/WHEEL': 'Wheel-Version: 1.0\\nGenerator: sbx-native-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
  f'{dist}/entry_points.txt': f'[console_scripts]\\n{script} = {name}:main\\n',
}
def digest(b):
  return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()
record = ''.join(f'{p},{digest(c.encode())},{len(c.encode())}\\n' for p, c in files.items()) + f'{dist}/RECORD,,\\n'
with zipfile.ZipFile(f'{out}/{name}-{version}-py3-none-any.whl', 'w') as z:
  for p, c in files.items(): z.writestr(p, c)
  z.writestr(f'{dist}/RECORD', record)
`;
  return cached(`wheel-${name}@${version}`, (tmp) => {
    const r = spawnSync(systemPython, ['-c', src, tmp, name, version, script, message], { encoding: 'utf8' });
    return r.status === 0 ? { ok: true } : { why: `building the ${name} wheel failed: ${r.stderr}` };
  });
}
