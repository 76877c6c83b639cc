/*
 * json - moved to common/json.h; this header only forwards to it for the files that still
 * include it by its old name (engine/verify.c, until the command line moves to cli/).
 */
#ifndef MAILSIFT_EXPORTERS_JSON_H
#define MAILSIFT_EXPORTERS_JSON_H

#include "common/json.h"

#endif
