/*
 * tcpinfo.c -- TCP_INFO's idle time and byte counts (tcpinfo.h).
 */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/tcp.h>

#include "tcpinfo.h"

int
tcpinfo_get(int fd, double *ret_idle, int64_t *ret_in, int64_t *ret_out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	*ret_in = *ret_out = -1;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return -1;
	*ret_idle = (ti.tcpi_last_data_recv < ti.tcpi_last_data_sent ?
	    ti.tcpi_last_data_recv : ti.tcpi_last_data_sent) / 1000.0;
	/* Linux 4.1 and later; the kernel says how much it filled. */
	if (len >= offsetof(struct tcp_info, tcpi_bytes_received) +
	    sizeof(ti.tcpi_bytes_received)) {
		*ret_in = (int64_t)ti.tcpi_bytes_received;
		*ret_out = (int64_t)ti.tcpi_bytes_acked;
	}
	return 0;
}
