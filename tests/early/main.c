/* early-main: a program linked with libnopyc-early.so; that library's
 * constructor runs before libnopyc.so's when libnopyc.so is preloaded. */
#include <stdio.h>

int main(void)
{
	puts("early-main ran");
	return 0;
}
