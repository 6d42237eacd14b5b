/*
 * banner.h -- xinetd's banner, banner_success and banner_fail: text sent
 * to a client before its handler runs, or before it is refused.
 *
 * The files are read when the configuration loads (conf_inetd.c, at most
 * 4096 bytes each) and live in the struct service.  Sending never blocks
 * the accepting loop: MSG_DONTWAIT on a fresh connection, whose socket
 * buffer holds far more than a banner; whatever does not fit is dropped
 * (and a client that reset the connection costs nothing).
 */
#ifndef PORTERD_BANNER_H
#define PORTERD_BANNER_H

#include "conf.h"

/* An admitted connection: banner, then banner-success.  The runtime calls
 * it right before handing fd to the handler. */
void banner_admitted(const struct service *s, int fd);

/* A refused connection: banner, then banner-fail.  The runtime calls it
 * right before closing fd. */
void banner_refused(const struct service *s, int fd);

#endif
