/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * top - the full-screen live view, drawn from snapshots (snapshot.h), so a
 * local detector and a remote daemon (--connect) look the same.
 */
#ifndef MTS_TOP_H
#define MTS_TOP_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>

struct mts_top;

/* Take over the terminal (ncurses). NULL with a message on stderr if not a tty. */
struct mts_top *mts_top_open(void);
/* Show this snapshot from now on (the view takes its own reference). */
void mts_top_update(struct mts_top *t, json_object *snapshot);
/* Handle keys for up to timeout_ms, redraw; true when the user quit. */
bool mts_top_poll(struct mts_top *t, int timeout_ms);
/* Give the terminal back as it was (also safe after a signal). */
void mts_top_close(struct mts_top *t);

/* One plain-text snapshot: for --once and when stdout is not a terminal.
 * width <= 0: f's terminal width, or 80 when f is not a terminal. */
void mts_top_print(FILE *f, json_object *snapshot, int width);

/* `top --connect ADDR:PORT`: the same view from a running daemon. */
int mts_top_connect(const char *addr, bool once);

#endif
