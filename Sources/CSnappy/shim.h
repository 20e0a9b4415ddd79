// Shim header so SwiftPM can import the system library <snappy-c.h> as module CSnappy.
#ifndef FJORD_CSNAPPY_SHIM_H
#define FJORD_CSNAPPY_SHIM_H

#include <snappy-c.h>
#endif
