// What domain lists add to a plan (lib/plan.ts): the proxy process's start
// (before the namespaces, so it keeps the host's network), its listening
// sockets on the sandbox's loopback, the wait for it to serve, and the
// environment that points the command's tools at it.
import fs from 'fs';
import path from 'path';
import { FS, NET, SCOPE, fsRightsForAbi } from '../uapi';
import { native } from '../native';
import type { ResolvedDomains } from './policy';

/** Fixed ports on the sandbox's own loopback (nothing else listens there). */
export const HTTP_PROXY_PORT = 3128;
export const SOCKS_PROXY_PORT = 1080;
/** How long the monitor waits for the proxy process to be confined and exec'd before the setup fails. */
const READY_TIMEOUT_MS = 10_000;

export interface ProxyPlan {
  /** Before unshare. */
  fork: string[];
  /** After loopback_up. */
  listen: string[];
  /** Before pidns_fork. */
  ready: string[];
}

/** The compiled proxy script (dist/proxy/main.js), also when the library runs from its TypeScript sources (tests). */
export function proxyScript(): string {
  const candidates = [path.join(__dirname, 'main.js'), path.join(__dirname, '..', '..', 'dist', 'proxy', 'main.js')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found)
    throw new Error(`sbx-native: the network proxy script is missing (looked for ${candidates.join(', ')}); run \`npm run build:ts\``);
  return found;
}

/**
 * Test only (docs/design.md): SBX_NATIVE_TEST_HOSTS="name=addr[|addr],..." in
 * this process's environment makes the proxy resolve names from that map and
 * never by DNS, so tests can point names at local servers.
 */
function testHosts(): Record<string, string[]> | undefined {
  const v = process.env.SBX_NATIVE_TEST_HOSTS;
  if (v === undefined) return undefined;
  const out: Record<string, string[]> = {};
  for (const entry of v.split(',').filter(Boolean)) {
    const [name, addrs] = entry.split('=');
    out[name.trim().toLowerCase()] = (addrs ?? '').split('|').filter(Boolean);
  }
  return out;
}

export function proxyPlan(domains: ResolvedDomains, abi: number, landlock: boolean, node: string = process.execPath): ProxyPlan {
  const fsRights = landlock && abi >= 1 ? fsRightsForAbi(abi) : 0n;
  const net = fsRights && abi >= 4 ? NET.BIND_TCP : 0n;
  const scoped = fsRights && abi >= 6 ? SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL : 0n;
  const config = { allowed: domains.allowed ?? null, denied: domains.denied, ...(testHosts() ? { hosts: testHosts() } : {}) };
  return {
    fork: [
      String(fsRights),
      String(net),
      String(scoped),
      String(FS.READ_FILE | FS.READ_DIR | FS.EXECUTE),
      String(FS.READ_FILE | FS.EXECUTE),
      node,
      // No Landlock here (level mount-only): the proxy's reads are narrowed by a root of its own instead (proxy_jail.cc).
      ...(fsRights ? [] : ['jail']),
      ...proxyReads(node).map((p) => `read=${p}`),
      node,
      proxyScript(),
      JSON.stringify(config),
      addonFile(),
    ],
    listen: [String(HTTP_PROXY_PORT), String(SOCKS_PROXY_PORT)],
    ready: [String(READY_TIMEOUT_MS)],
  };
}

/**
 * What the proxy process may read (Landlock; it writes nothing): Node and the
 * system libraries, the resolver's files, its own /proc entries and cgroup
 * (Node reads its memory limit), sbx-native and the packages it loads. Not
 * the user's files: a parser bug that gave the sandbox code execution in the
 * proxy would not reach them.
 */
function proxyReads(node: string): string[] {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return p;
    }
  };
  const pkgDir = (name: string) => {
    try {
      return path.dirname(real(require.resolve(`${name}/package.json`)));
    } catch {
      return undefined;
    }
  };
  const nodeBin = path.dirname(real(node));
  const etc = [
    'ld.so.cache',
    'ld.so.conf',
    'ld.so.conf.d',
    'hosts',
    'resolv.conf',
    'nsswitch.conf',
    'gai.conf',
    'host.conf',
    'services',
    'localtime',
    'ssl',
  ].map((f) => `/etc/${f}`);
  const out = [
    nodeBin,
    path.dirname(nodeBin),
    '/usr/lib',
    '/usr/lib64',
    '/lib',
    '/lib64',
    '/usr/share/zoneinfo',
    ...etc,
    '/proc/self',
    '/proc/meminfo',
    '/sys/fs/cgroup',
    path.join(__dirname, '..', '..'),
    pkgDir('@pondwader/socks5-server'),
    pkgDir('node-gyp-build'),
  ];
  // /proc/self as a name: the helper opens it in the proxy's process, where it is the proxy's own.
  // Each path as named and as it resolves: Landlock takes the inode either way,
  // and a root of the proxy's own (proxy_jail.cc) needs the names too (/lib -> usr/lib).
  const named = out.filter((p): p is string => !!p);
  return [...new Set([...named, ...named.map((p) => (p === '/proc/self' ? p : real(p)))])];
}

// Tools' own proxy settings (npm, yarn, pip, gRPC, docker, websocket clients): a caller's would lead nowhere inside.
const HTTP_VARS = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'npm_config_proxy',
  'npm_config_https_proxy',
  'YARN_HTTP_PROXY',
  'YARN_HTTPS_PROXY',
  'PIP_PROXY',
  'GRPC_PROXY',
  'DOCKER_HTTP_PROXY',
  'DOCKER_HTTPS_PROXY',
  'WS_PROXY',
  'WSS_PROXY',
];
const PROXY_VARS = [...HTTP_VARS, 'ALL_PROXY', 'NO_PROXY', 'FTP_PROXY', 'RSYNC_PROXY', 'NODE_USE_ENV_PROXY'].map((v) => v.toLowerCase());

/**
 * The command's environment with the proxy variables pointing at its proxy
 * (the caller's own proxy variables would lead nowhere inside: replaced).
 * NODE_USE_ENV_PROXY makes Node's fetch honour them on releases that know it (Node 24; Node 20 does not).
 * GIT_SSH_COMMAND (unless the caller set one) gives git's ssh the helper as
 * its ProxyCommand (native/helper/proxy_connect.cc).
 */
export function proxyEnv(env: string[], helper: string | undefined = helperPath()): string[] {
  const out = env.filter((e) => !PROXY_VARS.includes(e.slice(0, e.indexOf('=')).toLowerCase()));
  const http = `http://127.0.0.1:${HTTP_PROXY_PORT}`;
  const socks = `socks5h://127.0.0.1:${SOCKS_PROXY_PORT}`;
  const local = 'localhost,127.0.0.1,::1';
  for (const [k, v] of [...HTTP_VARS.map((h) => [h, http]), ['ALL_PROXY', socks], ['NO_PROXY', local]]) {
    out.push(`${k}=${v}`);
    if (['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'GRPC_PROXY'].includes(k)) out.push(`${k.toLowerCase()}=${v}`);
  }
  out.push('NODE_USE_ENV_PROXY=1');
  if (helper && !/['\\]/.test(helper) && !env.some((e) => e.startsWith('GIT_SSH_COMMAND='))) {
    out.push(`GIT_SSH_COMMAND=ssh -o ProxyCommand='${helper} --proxy-connect %h %p'`);
  }
  return out;
}

/** The addon file the proxy confines itself with (lockdown.ts): the one this process loaded. */
function addonFile(): string {
  return native().addon;
}

/** The helper executable (the ssh connector), when the addon can be found. */
function helperPath(): string | undefined {
  try {
    return native().helper;
  } catch {
    return undefined; // the spawn itself will say why the addon is missing
  }
}
