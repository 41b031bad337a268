/* Sets the x86 flush-to-zero and denormals-are-zero modes before main (threads inherit MXCSR),
   to measure what subnormal floats cost a run (docs/performance.md#what-subnormals-cost-without-it-high-rate-runs-were-up-to-9-slower).
   It changes the numbers; lnwarm sets the same modes itself with --flush-subnormals on.
   gcc -O2 -shared -fPIC -o /tmp/ftz-daz.so scripts/ftz-daz.c
   LD_PRELOAD=/tmp/ftz-daz.so lnwarm sweep run ... */
#include <pmmintrin.h>
#include <xmmintrin.h>

__attribute__((constructor)) static void flush_subnormals(void) {
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
}
