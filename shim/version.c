/* The library's version, recorded in its file as a what(1) string
 * ("@(#)libnopyc VERSION"), so `nopyc --version`, what(1) or strings(1)
 * tell which build is installed without loading it.  VERSION comes from
 * the Makefile, which takes it from scripts/nopyc: one version string. */
#ifndef NOPYC_VERSION
#error "build with -DNOPYC_VERSION (the Makefile sets it)"
#endif

/* used: kept although nothing refers to it */
__attribute__((used)) static const char nopyc_what[] = "@(#)libnopyc " NOPYC_VERSION;
