// Stands in for glibc 2.32's <sys/single_threaded.h> in prebuilt addons
// (found first through -I): libstdc++'s headers then read this constant
// instead of the GLIBC_2.32 variable, so reference counts always use atomic
// operations, which a Node process with worker threads needs anyway.
#pragma once
static const char pagewise_libc_single_threaded = 0;
#define __libc_single_threaded pagewise_libc_single_threaded
