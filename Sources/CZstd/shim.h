// Shim header so SwiftPM can import the system library <zstd.h> as module CZstd.
#ifndef FJORD_CZSTD_SHIM_H
#define FJORD_CZSTD_SHIM_H

#include <zstd.h>
#endif
