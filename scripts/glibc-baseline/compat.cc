// Linked into prebuilt addons only (see compat.h): local definitions of two
// libstdc++ helpers that inline code of GCC 11/12 headers calls, so the addon
// needs no GLIBCXX version newer than the baseline. Hidden (.hidden: the
// headers declare them with default visibility), so they never stand in for
// the process's own libstdc++ for anyone else.
#include <memory>
#include <new>
#include <typeinfo>

namespace std {

// GLIBCXX_3.4.29: what allocator<T>::allocate calls for an impossible size.
void __throw_bad_array_new_length() { throw std::bad_array_new_length(); }

// GLIBCXX_3.4.26: how shared_ptr built without RTTI recognises make_shared's
// own control block in get_deleter (this file is compiled with RTTI).
bool _Sp_make_shared_tag::_S_eq(const type_info& ti) noexcept {
  return ti == typeid(_Sp_make_shared_tag);
}

}  // namespace std

__asm__(".hidden _ZSt28__throw_bad_array_new_lengthv");
__asm__(".hidden _ZNSt19_Sp_make_shared_tag5_S_eqERKSt9type_info");
