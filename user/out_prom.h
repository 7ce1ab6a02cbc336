/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef MTS_OUT_PROM_H
#define MTS_OUT_PROM_H

#include <stdio.h>
#include "snapshot.h"

/* The Prometheus text exposition of the detector's state. */
void mts_prom_render(FILE *f, const struct mts_state *s);

#endif
