/*
 * tcpinfo.h -- what the kernel knows about a TCP connection's traffic.
 *
 * In a file of its own because glibc's <netinet/tcp.h> (which libporter's
 * header pulls in) has an older struct tcp_info without the byte counts,
 * and cannot be included with <linux/tcp.h>.
 */
#ifndef PORTERD_TCPINFO_H
#define PORTERD_TCPINFO_H

#include <stdint.h>

/*
 * Fills the seconds since data last went either way and the bytes received
 * and acknowledged as sent.  Returns 0, or -1 (not TCP, or closed); a
 * kernel too old for the byte counts leaves them at -1.
 */
int tcpinfo_get(int fd, double *ret_idle, int64_t *ret_in, int64_t *ret_out);

#endif
