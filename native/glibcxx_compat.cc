// Keeps the addon loadable with the libstdc++ of older distributions (RHEL 8,
// Debian 10: GCC 8, GLIBCXX_3.4.25). GCC 11+ headers make every
// std::allocator<T>::allocate call std::__throw_bad_array_new_length, which
// libstdc++.so exports only from GLIBCXX_3.4.29 on. Defining it here (hidden,
// so it binds locally) removes that import; scripts/check-glibc.js verifies
// the result. bad_array_new_length derives from bad_alloc, so throwing
// bad_alloc keeps every catch site working without exporting typeinfo.
#include <new>

namespace std {
__attribute__((visibility("hidden"), noreturn)) void __throw_bad_array_new_length() {
  throw std::bad_alloc();
}
}  // namespace std
