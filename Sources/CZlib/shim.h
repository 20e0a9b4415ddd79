// Shim header so SwiftPM can import the system library <zlib.h> as module CZlib.
#ifndef FJORD_CZLIB_SHIM_H
#define FJORD_CZLIB_SHIM_H

#include <zlib.h>
#endif
