/* Splitting a command line into words, for batch mode and the shell:
 * the rules of a POSIX shell without its expansions. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>

int split_words(char *line, const char **words, int max)
{
	int n = 0;
	char *src = line, *dst = line;
	while (*src) {
		while (isspace((unsigned char)*src))
			src++;
		if (!*src || *src == '#')
			break;
		if (n == max)
			return -E2BIG;
		words[n++] = dst;
		char quote = 0;
		while (*src && (quote || !isspace((unsigned char)*src))) {
			if (quote && *src == quote) {
				quote = 0;
				src++;
			} else if (!quote && (*src == '\'' || *src == '"')) {
				quote = *src++;
			} else if (*src == '\\' && quote != '\'') {
				if (!src[1])
					return -EILSEQ;
				src++;
				*dst++ = *src++;
			} else {
				*dst++ = *src++;
			}
		}
		if (quote)
			return -EINVAL;
		/* the word ends here; dst never passes src, so the blank
		 * that ended it may be overwritten */
		if (*src)
			src++;
		*dst++ = '\0';
	}
	return n;
}

const char *split_error(int r)
{
	switch (r) {
	case -EINVAL:
		return "unbalanced quote";
	case -EILSEQ:
		return "the line ends with a backslash";
	case -E2BIG:
		return "too many words";
	default:
		return "cannot split the line";
	}
}
