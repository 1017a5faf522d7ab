// protocol/syscalls.json -> lib/gen/syscalls.ts (names and numbers for the
// filter) and native/helper/gen/supervised_syscalls.h (the supervisor's enum
// and name table; the numbers reach it in the plan's supervise step).
'use strict';
const { header, fail, checkNames, camel, cppPrelude } = require('./common');

const TABLE = 'syscalls.json';
const ARCHES = ['x64', 'arm64'];
const CLASSES = ['metadata', 'mode', 'xattr', 'inode-ioctl', 'create', 'rename', 'open', 'socket', 'fs-state'];
// The C++ type init reads an argument of each role as; every other role is the raw register.
const ROLE_TYPES = { fd: 'int', dirfd: 'int', mode: 'mode_t', uid: 'uid_t', gid: 'gid_t', dev: 'dev_t' };

/** `struct <Name>Args` and `<name>_args(raw)`: the arguments by role, so no one counts positions by hand. */
function argStructs(rows) {
  const out = [];
  for (const r of rows) {
    const seen = {};
    const fields = r.args.map((role, i) => {
      const base = role.replace(/-/g, '_');
      seen[base] = (seen[base] ?? 0) + 1;
      const name = seen[base] > 1 ? `${base}${seen[base]}` : base;
      const type = ROLE_TYPES[role] ?? 'uint64_t';
      // fds are ints in registers of 64 bits: the kernel reads the low 32.
      const value = type === 'int' ? `(int)(uint32_t)a[${i}]` : type === 'uint64_t' ? `a[${i}]` : `(${type})a[${i}]`;
      return { name, type, value };
    });
    const T = `${camel(r.name)}Args`;
    out.push(`// ${r.name}(${r.args.join(', ')})`);
    out.push(`struct ${T} {`, ...fields.map((f) => `  ${f.type} ${f.name};`), '};');
    out.push(`inline ${T} ${r.name}_args(const uint64_t *a) { return {${fields.map((f) => f.value).join(', ')}}; }`, '');
  }
  return out;
}

function syscallFiles(t) {
  const rows = t.syscalls;
  checkNames(
    TABLE,
    rows.map((r) => r.name),
  );
  for (const r of rows) {
    if (!r.filter && !r.supervised && !r.proxy) fail(TABLE, `${r.name}: neither filtered, supervised nor the proxy's`);
    if (r.proxy !== undefined && r.proxy !== true) fail(TABLE, `${r.name}: proxy is true or absent`);
    if (r.filter) for (const a of ARCHES) if (r.nr[a] === undefined) fail(TABLE, `${r.name}: the filter needs a number on ${a}`);
    for (const a of Object.keys(r.nr)) if (!ARCHES.includes(a) || !Number.isInteger(r.nr[a])) fail(TABLE, `${r.name}: bad number for ${a}`);
    if (r.supervised && !CLASSES.includes(r.supervised)) fail(TABLE, `${r.name}: unknown class ${r.supervised}`);
    if (r.supervised && !Array.isArray(r.args)) fail(TABLE, `${r.name}: a supervised syscall lists its argument roles`);
  }
  const filtered = rows.filter((r) => r.filter);
  const supervised = rows.filter((r) => r.supervised);
  const proxied = rows.filter((r) => r.proxy);
  const names = (list) => list.map((r) => `'${r.name}'`);
  const union = (list) => names(list).join(' | ');
  const ofClass = (...c) => names(supervised.filter((r) => c.includes(r.supervised))).join(', ');
  const numbers = (list, a) =>
    list
      .filter((r) => r.nr[a] !== undefined)
      .map((r) => `${r.name}: ${r.nr[a]}`)
      .join(', ');

  const ts = [
    header('//', TABLE),
    "/** Architectures we can assemble for (Node's `process.arch` names). */",
    `export type SeccompArch = ${ARCHES.map((a) => `'${a}'`).join(' | ')};`,
    '',
    '/** The syscalls the filter looks at. */',
    `export type Syscall = ${union(filtered)};`,
    '',
    'export const SYSCALLS: Record<SeccompArch, Record<Syscall, number>> = {',
    ...ARCHES.map((a) => `  ${a}: { ${numbers(filtered, a)} },`),
    '};',
    '',
    '/** Syscalls the supervisor performs (native/helper/gen/supervised_syscalls.h has the same names). */',
    `export type SupervisedSyscall = ${union(supervised)};`,
    '',
    '/** A syscall missing on an architecture (aarch64 has only the *at forms) has no number there. */',
    'export const SUPERVISED_NR: Record<SeccompArch, Partial<Record<SupervisedSyscall, number>>> = {',
    ...ARCHES.map((a) => `  ${a}: { ${numbers(supervised, a)} },`),
    '};',
    '',
    "/** The syscalls the network proxy's own filter looks at (lib/proxy/seccomp.ts). */",
    `export type ProxySyscall = ${union(proxied)};`,
    '',
    '/** A syscall missing on an architecture has no number there. */',
    'export const PROXY_NR: Record<SeccompArch, Partial<Record<ProxySyscall, number>>> = {',
    ...ARCHES.map((a) => `  ${a}: { ${numbers(proxied, a)} },`),
    '};',
    '',
    '/** Metadata changes Landlock does not cover (the inode ioctls come through ioctl, INODE_IOCTL_SYSCALLS). */',
    `export const METADATA_SYSCALLS: SupervisedSyscall[] = [${ofClass('metadata', 'mode', 'xattr')}];`,
    '/** The mode changes among them: supervised with `writes` too (an existing hook made executable). */',
    `export const MODE_SYSCALLS: SupervisedSyscall[] = [${ofClass('mode')}];`,
    '/** The extended attributes among them: supervised with `writes` too (an access ACL sets the mode: setfacl u+x on a hook). */',
    `export const XATTR_SYSCALLS: SupervisedSyscall[] = [${ofClass('xattr')}];`,
    `export const INODE_IOCTL_SYSCALLS: SupervisedSyscall[] = [${ofClass('inode-ioctl')}];`,
    '/** Always create a name; the OPEN_SYSCALLS do only with O_CREAT (see buildSeccompFilter). */',
    `export const CREATE_SYSCALLS: SupervisedSyscall[] = [${ofClass('create', 'rename')}];`,
    `export const RENAME_SYSCALLS: SupervisedSyscall[] = [${ofClass('rename')}];`,
    `export const OPEN_SYSCALLS: SupervisedSyscall[] = [${ofClass('open')}];`,
    '/** Reach a socket by its address (with bind, the unix-socket rule; sendto only with an address: see buildSeccompFilter). */',
    `export const SOCKET_SYSCALLS: SupervisedSyscall[] = [${ofClass('socket')}];`,
    '/** Change the umask or cwd init caches, or how threads share them (clone and unshare only with some flags: buildSeccompFilter). */',
    `export const FS_STATE_SYSCALLS: SupervisedSyscall[] = [${ofClass('fs-state')}];`,
    '',
  ].join('\n');

  const h = [
    ...cppPrelude(TABLE, ['string', 'stdint.h', 'sys/types.h']),
    "// What init performs for the command; the plan's supervise step maps this architecture's numbers to them.",
    'enum class SupervisedOp : unsigned char {',
    ...supervised.map((r) => `  ${r.name},  // ${r.supervised}: ${r.args.join(', ')}`),
    '};',
    '',
    'struct SupervisedSpec {',
    '  const char *name;',
    '  SupervisedOp op;',
    '};',
    '',
    'inline constexpr SupervisedSpec kSupervisedSyscalls[] = {',
    ...supervised.map((r) => `    {"${r.name}", SupervisedOp::${r.name}},`),
    '};',
    '',
    "// Each supervised syscall's arguments by the roles the table gives them.",
    ...argStructs(supervised),
    '// The row of the syscall called `name`, or nullptr.',
    'inline const SupervisedSpec *find_supervised(const std::string &name) {',
    '  for (const SupervisedSpec &s : kSupervisedSyscalls)',
    '    if (name == s.name) return &s;',
    '  return nullptr;',
    '}',
    '',
  ].join('\n');

  return { 'lib/gen/syscalls.ts': ts, 'native/helper/gen/supervised_syscalls.h': h };
}

module.exports = { syscallFiles };
