// bubblewrap's checks of the whole command line, after parsing (the same
// messages, exit 1).
import { BwrapError } from './values';
import type { BwrapArgs, ParseIo } from './argv-types';

/** The checks bubblewrap makes once everything is parsed. */
export function postChecks(a: BwrapArgs, io: ParseIo): void {
  const u = a.unshare;
  if (a.fds.usernsBlock !== undefined && !u.user) throw new BwrapError('--userns-block-fd requires --unshare-user');
  if (a.fds.usernsBlock !== undefined && a.fds.info === undefined) throw new BwrapError('--userns-block-fd requires --info-fd');
  if (a.fds.userns !== undefined && u.user) throw new BwrapError('--userns not compatible --unshare-user');
  if (a.fds.userns !== undefined && u.userTry) throw new BwrapError('--userns not compatible --unshare-user-try');
  if (a.disableUserns && !u.user) throw new BwrapError('--disable-userns requires --unshare-user');
  if (a.disableUserns && a.fds.usernsBlock !== undefined)
    throw new BwrapError('--disable-userns is not compatible with  --userns-block-fd');
  // Not root (and never setuid): bubblewrap makes the user namespace itself.
  if (io.uid !== 0 && a.fds.userns === undefined) u.user = true;
  if (u.userTry) u.user = true;
  if (a.command.length === 0) throw new BwrapError('usage', 1);
  if (!u.user && a.fds.userns === undefined && a.uid !== undefined && a.uid !== io.uid)
    throw new BwrapError('Specifying --uid requires --unshare-user or --userns');
  if (!u.user && a.fds.userns === undefined && a.gid !== undefined && a.gid !== (io.gid ?? process.getgid?.()))
    throw new BwrapError('Specifying --gid requires --unshare-user or --userns');
  if (!u.uts && a.hostname !== undefined) throw new BwrapError('Specifying --hostname requires --unshare-uts');
  if (a.asPid1 && !u.pid) throw new BwrapError('Specifying --as-pid-1 requires --unshare-pid');
  if (a.asPid1 && a.ops.some((o) => o.op === 'lock-file')) throw new BwrapError('Specifying --as-pid-1 and --lock-file is not permitted');
}
