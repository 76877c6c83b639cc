/*
 * timeval - seconds to struct timeval (see timeval.h).
 */
#include "common/timeval.h"

struct timeval timeval_from_secs(double secs)
{
	struct timeval tv;

	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	return tv;
}
