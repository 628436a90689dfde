/* early.so: the library listed in LD_PRELOAD before libnopyc.so.  It does
 * nothing itself; it needs libnopyc-early.so (DT_NEEDED), whose constructor
 * the loader therefore runs before libnopyc.so's. */
void nopyc_early_preload(void);
void nopyc_early_preload(void)
{
}
