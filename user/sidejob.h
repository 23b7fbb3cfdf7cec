/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A side job: a function run by a second thread while the caller goes on, or in the caller's
 * thread (at once) on a machine with one CPU or when no thread can be started. Either way its
 * result is there after vw_side_join(). */
#ifndef VW_SIDEJOB_H
#define VW_SIDEJOB_H

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

struct vw_side_job {
	pthread_t thread;
	bool threaded;
};

static inline void vw_side_start(struct vw_side_job *j, void *(*fn)(void *), void *arg)
{
	j->threaded = sysconf(_SC_NPROCESSORS_ONLN) > 1 && !pthread_create(&j->thread, NULL, fn, arg);
	if (!j->threaded)
		fn(arg);
}

/* Waits for the job; a second call does nothing. */
static inline void vw_side_join(struct vw_side_job *j)
{
	if (j->threaded)
		pthread_join(j->thread, NULL);
	j->threaded = false;
}

#endif /* VW_SIDEJOB_H */
