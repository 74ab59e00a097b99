// The functions of this target are static inline, in include/cuohe_sys.h.
#include "cuohe_sys.h"
