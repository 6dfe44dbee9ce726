/*
 * version.h - the version, defined once in the VERSION file and passed in by the Makefile.
 */
#ifndef ISTRIGGER_VERSION_H
#define ISTRIGGER_VERSION_H

#ifndef ISTRIGGER_VERSION
#define ISTRIGGER_VERSION "0.0.0-dev"
#endif

#endif
