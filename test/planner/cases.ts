// The golden cases: representative policies on in-memory hosts. Each case's
// expected layout and policy-level decisions are in golden/<name>.json
// (docs/design.md, "Golden layouts": adding a case).
import type { SandboxPolicy } from '../../lib/policy';
import { DIR, HostSpec, TreeSpec } from './memfs';

export interface GoldenCase {
  name: string;
  /** Why the case exists: what it pins down. */
  about: string;
  host: HostSpec;
  policy: SandboxPolicy;
  cwd: string;
  /** The command's environment (resolvePolicy's env). */
  env: Record<string, string>;
  /** The mount-only level: one mount per root. */
  separateRoots?: boolean;
}

const HOME = '/home/u';

/** A machine with one user: sbx-native installed in /opt, a runtime dir, /tmp and /home on mounts of their own. */
function host(tree: TreeSpec, extra: Partial<HostSpec> = {}): HostSpec {
  return {
    tree: {
      '/opt/sbx-native/package.json': '{}',
      '/opt/sbx-native/bin/sbx-native.js': '',
      '/opt/sbx-native/dist': DIR,
      '/opt/sbx-native/node_modules/node-gyp-build': DIR,
      '/opt/sbx-native/node_modules/node-addon-api': DIR,
      '/opt/sbx-native/node_modules/smol-toml': DIR,
      '/run/user/1000': DIR,
      '/tmp': DIR,
      '/var/tmp': DIR,
      [`${HOME}/.bashrc`]: '',
      [`${HOME}/.cache`]: DIR,
      ...tree,
    },
    mounts: ['/', '/home', '/tmp'],
    env: { HOME },
    packageDir: '/opt/sbx-native',
    ...extra,
  };
}

export const CASES: GoldenCase[] = [
  {
    name: 'two-roots-under-home',
    about: 'two roots in the /home mount share one bind of /home/u; the siblings on the way are sealed; protected names in both',
    host: host({
      [`${HOME}/a/.git`]: DIR,
      [`${HOME}/a/src`]: DIR,
      [`${HOME}/b/.vscode`]: DIR,
      [`${HOME}/b/.gitmodules`]: '',
      [`${HOME}/other`]: DIR,
    }),
    policy: { writableRoots: [`${HOME}/a`, `${HOME}/b`] },
    cwd: `${HOME}/a`,
    env: { HOME },
  },
  {
    name: 'tmp-own-mount',
    about: '/tmp is on its own mount and $TMPDIR (/var/tmp/u, on /) gets a bind of its own instead of sharing / with the project',
    host: host({ [`${HOME}/proj`]: DIR, '/var/tmp/u': DIR }),
    policy: { writableRoots: [`${HOME}/proj`] },
    cwd: `${HOME}/proj`,
    env: { HOME, TMPDIR: '/var/tmp/u' },
  },
  {
    name: 'root-in-mount-below-tmp',
    about:
      'a root in a mount of its own below /tmp (a tmpfs at /tmp/x) gets its own bind: the /tmp group makes the mounts below it read-only',
    host: host({ '/tmp/x/ws': DIR, '/tmp/x/other': DIR }, { mounts: ['/', '/home', '/tmp', '/tmp/x'] }),
    policy: { writableRoots: ['/tmp/x/ws'] },
    cwd: '/tmp/x/ws',
    env: { HOME },
  },
  {
    name: 'mount-only-separate-roots',
    about: 'the mount-only level binds each root on its own (no shared ancestor, no sealing)',
    host: host({ [`${HOME}/a`]: DIR, [`${HOME}/b`]: DIR }),
    policy: { writableRoots: [`${HOME}/a`, `${HOME}/b`], tmp: 'none' },
    cwd: `${HOME}/a`,
    env: { HOME },
    separateRoots: true,
  },
  {
    name: 'read-only-carve-outs',
    about: 'readOnly paths and read rules inside a root are pinned read-only; the directories above them are kept from renames',
    host: host({ [`${HOME}/proj/config`]: DIR, [`${HOME}/proj/deep/dir/locked`]: 'x', [`${HOME}/proj/vendor`]: DIR }),
    policy: {
      writableRoots: [`${HOME}/proj`],
      readOnly: [`${HOME}/proj/config`, `${HOME}/proj/deep/dir/locked`],
      rules: { [`${HOME}/proj/vendor`]: 'read' },
      tmp: 'none',
    },
    cwd: `${HOME}/proj`,
    env: { HOME },
  },
  {
    name: 'deny-read-masks',
    about:
      'deny-read directories and files become empty masks (a directory with a read rule inside is revealed read-only); a private /tmp is a tmpfs',
    host: host({
      [`${HOME}/.ssh/id_ed25519`]: 'key',
      [`${HOME}/proj/.env`]: 'SECRET=1',
      [`${HOME}/proj/secrets/public`]: DIR,
      [`${HOME}/proj/secrets/key`]: 'k',
    }),
    policy: {
      writableRoots: [`${HOME}/proj`],
      denyRead: [`${HOME}/.ssh`, `${HOME}/proj/.env`, `${HOME}/proj/secrets`],
      rules: { [`${HOME}/proj/secrets/public`]: 'read' },
      tmp: 'private',
    },
    cwd: `${HOME}/proj`,
    env: { HOME, TMPDIR: '/var/tmp/u' },
  },
  {
    name: 'symlinked-protected-name',
    about:
      'a protected name that is a symlink is pinned as a link; its target is protected where it is writable; links on the way to a name are pinned',
    host: host({
      [`${HOME}/dotfiles/gitconfig`]: '',
      [`${HOME}/proj/.gitconfig`]: { symlink: '../dotfiles/gitconfig' },
      [`${HOME}/proj/shared/vscode`]: DIR,
      [`${HOME}/proj/.vscode`]: { symlink: 'shared/vscode' },
      [`${HOME}/proj/tools/claude/commands`]: DIR,
      [`${HOME}/proj/.claude`]: { symlink: 'tools/claude' },
      [`${HOME}/work`]: { symlink: 'proj' },
    }),
    policy: { writableRoots: [`${HOME}/work`], tmp: 'none' }, // a root named through a symlink: the rule holds its real path
    cwd: `${HOME}/proj`,
    env: { HOME },
  },
  {
    name: 'dangling-protected-symlink',
    about:
      'a protected symlink whose target is missing: the link is pinned and the target may not be created (inside the root); one pointing outside is only pinned, and so is a loop',
    host: host({
      [`${HOME}/proj/.mcp.json`]: { symlink: 'conf/mcp.json' },
      [`${HOME}/proj/.idea`]: { symlink: '/nonexistent/idea' },
      [`${HOME}/proj/.zshrc`]: { symlink: '.zshrc' }, // a loop: pinned where it is
    }),
    policy: { writableRoots: [`${HOME}/proj`], tmp: 'none' },
    cwd: `${HOME}/proj`,
    env: { HOME },
  },
  {
    name: 'root-inside-repository',
    about:
      'a root inside a repository gets no new .git at its top; a worktree whose .git is a gitdir: pointer protects the file and the directory it names',
    host: host({
      [`${HOME}/repo/.git/worktrees/wt`]: DIR,
      [`${HOME}/repo/packages/app`]: DIR,
      [`${HOME}/wt/.git`]: `gitdir: ${HOME}/repo/.git/worktrees/wt\n`,
      [`${HOME}/marker/.git`]: '',
    }),
    policy: { writableRoots: [`${HOME}/repo/packages/app`, `${HOME}/wt`, `${HOME}/marker`], tmp: 'none' },
    cwd: `${HOME}/repo/packages/app`,
    env: { HOME },
  },
  {
    name: 'repository-model',
    about:
      "an existing repository: what makes git run code is read-only or refused (config, included files, hooks and core.hooksPath, commondir, modules, a linked worktree's pointers, a submodule's .git file), the rest of .git stays writable; no new .git or HEAD but the repository's own HEADs and uv's marker",
    host: host({
      [`${HOME}/proj/.git/config`]:
        '[core]\n\tbare = false\n\thooksPath = .githooks\n[include]\n\tpath = ../shared.gitconfig\n[includeIf "gitdir:~/"]\n\tpath = ~/.gitconfig.local\n',
      [`${HOME}/proj/.git/HEAD`]: 'ref: refs/heads/main\n',
      [`${HOME}/proj/.git/hooks/pre-commit.sample`]: '',
      [`${HOME}/proj/.git/objects`]: DIR,
      [`${HOME}/proj/.git/refs/heads`]: DIR,
      [`${HOME}/proj/.git/worktrees/wt/HEAD`]: 'ref: refs/heads/wt\n',
      [`${HOME}/proj/.git/worktrees/wt/commondir`]: '../..\n',
      [`${HOME}/proj/.git/worktrees/wt/gitdir`]: `${HOME}/wt/.git\n`,
      [`${HOME}/proj/.git/modules/sub/config`]: '',
      [`${HOME}/proj/.gitmodules`]: '[submodule "sub"]\n\tpath = sub\n\turl = ../sub\n',
      [`${HOME}/proj/sub/.git`]: 'gitdir: ../.git/modules/sub\n',
      [`${HOME}/proj/shared.gitconfig`]: '',
      [`${HOME}/proj/.githooks/pre-commit`]: '',
      [`${HOME}/wt/.git`]: `gitdir: ${HOME}/proj/.git/worktrees/wt\n`,
    }),
    policy: { writableRoots: [`${HOME}/proj`, `${HOME}/wt`, `${HOME}/.cache`], tmp: 'none' },
    cwd: `${HOME}/proj`,
    env: { HOME },
  },
  {
    name: 'writable-under-hidden',
    about: 'a writable path under a deny-read one is revealed read-write (its own root, no sealing needed)',
    host: host({ [`${HOME}/proj/private/scratch`]: DIR, [`${HOME}/proj/private/notes`]: 'n' }),
    policy: {
      writableRoots: [`${HOME}/proj`],
      denyRead: [`${HOME}/proj/private`],
      rules: { [`${HOME}/proj/private/scratch`]: 'write' },
      tmp: 'none',
    },
    cwd: `${HOME}/proj`,
    env: { HOME },
  },
  {
    name: 'writable-home',
    about: 'a writable $HOME protects its dotfiles too; the host-facts cache under it is a guard that may not be created',
    host: host({ [`${HOME}/.zshrc`]: '', [`${HOME}/proj`]: DIR }),
    policy: { writableRoots: [HOME], tmp: 'none' },
    cwd: `${HOME}/proj`,
    env: { HOME },
  },
  {
    name: 'installed-in-root',
    about: 'sbx-native installed in the project it sandboxes: the package, its .bin entry and its dependencies are guarded inside the root',
    host: host(
      {
        [`${HOME}/proj/node_modules/sbx-native/package.json`]: '{}',
        [`${HOME}/proj/node_modules/sbx-native/bin/sbx-native.js`]: '',
        [`${HOME}/proj/node_modules/.bin/sbx-native`]: { symlink: '../sbx-native/bin/sbx-native.js' },
        [`${HOME}/proj/node_modules/smol-toml`]: DIR,
        [`${HOME}/proj/node_modules/node-gyp-build`]: DIR,
        [`${HOME}/proj/node_modules/node-addon-api`]: DIR,
      },
      { packageDir: `${HOME}/proj/node_modules/sbx-native`, mainScript: `${HOME}/proj/node_modules/.bin/sbx-native` },
    ),
    policy: { writableRoots: [`${HOME}/proj`], tmp: 'none' },
    cwd: `${HOME}/proj`,
    env: { HOME },
  },
  {
    name: 'repositories-below-tops',
    about:
      "repositories below a root's top, found by the walk of the root: a nested clone (its config's include and core.hooksPath, a symlinked hook), a gitfile checkout deeper down, a bare repository; each protected like a root's own",
    host: host({
      [`${HOME}/proj/.git/HEAD`]: 'ref: refs/heads/main\n',
      [`${HOME}/proj/.git/objects`]: DIR,
      [`${HOME}/proj/.git/refs`]: DIR,
      [`${HOME}/proj/vendor/lib/.git/config`]: '[core]\n\thooksPath = .husky/_\n[include]\n\tpath = ../../../lib.gitconfig\n',
      [`${HOME}/proj/vendor/lib/.git/HEAD`]: 'ref: refs/heads/main\n',
      [`${HOME}/proj/vendor/lib/.git/objects`]: DIR,
      [`${HOME}/proj/vendor/lib/.git/refs`]: DIR,
      [`${HOME}/proj/vendor/lib/.git/hooks/pre-commit`]: { symlink: '../../../../tools/pre-commit' },
      [`${HOME}/proj/vendor/lib/.husky/_/pre-commit`]: '',
      [`${HOME}/proj/lib.gitconfig`]: '',
      [`${HOME}/proj/tools/pre-commit`]: '',
      [`${HOME}/proj/a/b/c/.git`]: 'gitdir: ../../../repos/c.git\n',
      [`${HOME}/proj/repos/c.git/HEAD`]: 'ref: refs/heads/main\n',
      [`${HOME}/proj/repos/c.git/objects`]: DIR,
      [`${HOME}/proj/repos/c.git/refs`]: DIR,
      [`${HOME}/proj/repos/c.git/config`]: '',
      [`${HOME}/proj/node_modules/x/index.js`]: '',
    }),
    policy: { writableRoots: [`${HOME}/proj`], tmp: 'none' },
    cwd: `${HOME}/proj`,
    env: { HOME },
  },
  {
    name: 'repository-scan-budget',
    about: 'a walk that runs out of its budget: the root is named as not scanned, and the repository past it is not found',
    host: host({
      [`${HOME}/proj/a/1`]: '',
      [`${HOME}/proj/a/2`]: '',
      [`${HOME}/proj/z/lib/.git`]: DIR,
    }),
    policy: { writableRoots: [`${HOME}/proj`], tmp: 'none', repositoryScanBudget: 3 },
    cwd: `${HOME}/proj`,
    env: { HOME },
  },
  (() => {
    const tree: TreeSpec = {};
    const carves: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const p = `${HOME}/big/ro${String(i).padStart(4, '0')}`;
      tree[p] = DIR;
      carves.push(p);
    }
    return {
      name: '1000-carve-outs',
      about: 'one root with 1000 read-only carve-outs: one pin each, in path order',
      host: host(tree),
      policy: { writableRoots: [`${HOME}/big`], readOnly: carves, tmp: 'none' },
      cwd: `${HOME}/big`,
      env: { HOME },
    };
  })(),
];
