#include "names.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int name_check(const char *what, const char *name)
{
	size_t n = strlen(name);
	if (n == 0)
		return ipstor_fail(-EINVAL, "%s name is empty", what);
	if (n > NAME_LEN_MAX)
		return ipstor_fail(-EINVAL,
				   "%s name '%.20s...' is longer than %d "
				   "characters",
				   what, name, NAME_LEN_MAX);
	if (!isalnum((unsigned char)name[0]))
		return ipstor_fail(-EINVAL,
				   "invalid %s name '%s': it must start with a "
				   "letter or digit",
				   what, name);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && !strchr("_.+-", c) )
			return ipstor_fail(-EINVAL,
					   "invalid %s name '%s': only letters, "
					   "digits and _ . + - are allowed",
					   what, name);
	}
	return 0;
}

int export_name_check(const char *name)
{
	const char *at = strchr(name, '@');
	if (!at)
		return name_check("export", name);
	if (strlen(name) > NAME_LEN_MAX)
		return ipstor_fail(-EINVAL,
				   "export name '%.20s...' is longer than %d "
				   "characters",
				   name, NAME_LEN_MAX);
	char head[NAME_LEN_MAX + 1];
	snprintf(head, sizeof(head), "%.*s", (int)(at - name), name);
	int r = name_check("export", head);
	return r ? r : name_check("export", at + 1);
}
