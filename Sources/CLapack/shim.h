// The C interfaces the Swift code calls: CBLAS and LAPACKE from OpenBLAS.
//
// LAPACK integers are 32 bits wide (the LP64 interface Debian ships), so every
// dimension crosses into C as Int32. Defining lapack_int here keeps LAPACKE
// from guessing a different width.
#ifndef CLAPACK_SHIM_H
#define CLAPACK_SHIM_H

#include <stdint.h>
#define lapack_int int32_t

#include <cblas.h>
#include <lapacke.h>

#endif
