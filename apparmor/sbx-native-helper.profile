# AppArmor profile for sbx-native's helper (Ubuntu 23.10+ restricts user
# namespaces of unconfined programs). `sbx-native doctor` prints this file
# with HELPER_PATH replaced by the real path and the commands to install it.
abi <abi/4.0>,
include <tunables/global>

profile sbx-native-helper HELPER_PATH flags=(unconfined) {
  userns,
  include if exists <local/sbx-native-helper>
}
