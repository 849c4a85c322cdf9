/* Telling systemd how the worker is doing (sd_notify(3)'s protocol, without
 * linking libsystemd): one datagram to $NOTIFY_SOCKET per change, for a
 * unit of Type=notify. Nothing happens when the variable is unset. */
#include "worker.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void worker_notify(const char *state)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = e ? strlen(e) : 0;
	if (n < 2 || n >= sizeof(sa.sun_path) || (e[0] != '/' && e[0] != '@'))
		return;
	memcpy(sa.sun_path, e, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* an abstract socket */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	char msg[256];
	int len = snprintf(msg, sizeof(msg), "%s\nMAINPID=%d", state,
			   (int)getpid());
	(void)!sendto(fd, msg, (size_t)len, MSG_NOSIGNAL, (struct sockaddr *)&sa,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}
