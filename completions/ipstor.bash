# bash completion for ipstor(8)                           -*- shell-script -*-
#
# The program completes itself: `ipstor __complete -- WORD...` prints the
# candidates for the last WORD (groups, commands, options, live pool and
# volume names), given the words after `ipstor` up to and including the
# one being completed. When it prints nothing (a device, a file, a size),
# the shell completes file names. Needs no bash-completion helpers.

_ipstor() {
	local prog=${COMP_WORDS[0]} cur prefix="" i
	local -a words cands

	# Words after the command, up to the cursor. Bash splits "--pool=tank"
	# into "--pool" "=" "tank" (COMP_WORDBREAKS); glue them back.
	for ((i = 1; i <= COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} == "=" && ${#words[@]} -gt 0 &&
			${words[-1]} == --* && ${words[-1]} != *=* ]]; then
			words[-1]+="="
		elif [[ ${#words[@]} -gt 0 && ${words[-1]} == --*= ]]; then
			words[-1]+=${COMP_WORDS[i]}
		else
			words+=("${COMP_WORDS[i]}")
		fi
	done
	[[ ${#words[@]} -gt 0 ]] || words=("")
	cur=${words[-1]}

	# "--opt=VALUE": complete VALUE as if it followed "--opt"
	if [[ $cur == --*=* ]]; then
		unset 'words[-1]'
		words+=("${cur%%=*}" "${cur#*=}")
		# without "=" in COMP_WORDBREAKS readline replaces the whole word
		[[ $COMP_WORDBREAKS == *=* ]] || prefix="${cur%%=*}="
	fi

	# "~/bin/ipstor" as typed is not a path the shell has expanded
	[[ $prog == "~/"* ]] && prog=$HOME/${prog#"~/"}

	mapfile -t cands < <("$prog" __complete -- "${words[@]}" 2>/dev/null)
	if [[ ${#cands[@]} -eq 0 ]]; then
		COMPREPLY=()
		compopt -o default 2>/dev/null
		return 0
	fi
	COMPREPLY=("${cands[@]/#/$prefix}")
}

complete -F _ipstor ipstor
