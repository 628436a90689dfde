/* The family macros of wrappers.def undefined, for a file that expands
 * the table more than once with definitions of its own (real.h: one slot a
 * line; wrappers.c: the wrappers, then their routes).  No include guard:
 * it is meant to be included again. */
#undef PATH1
#undef OPEN
#undef OPEN2
#undef CREAT
#undef FOPEN
#undef FREOPEN
#undef PATH2
#undef MKSTEMP
#undef MKDTEMP
#undef RENAME
#undef DIROPEN
#undef DIRS
#undef DIRS_VOID
#undef SCAN
#undef WRITEFD
