// Shim header so SwiftPM can import the system library <lz4frame.h> as module CLZ4.
#ifndef FJORD_CLZ4_SHIM_H
#define FJORD_CLZ4_SHIM_H
#include <lz4.h>
#include <lz4frame.h>
#endif
