package main

import "strings"

// settingsPrefix turns the extension's name into the prefix of the
// environment variables it reads. Extensions share the function's
// environment, so unprefixed names such as LOG_LEVEL would be the function's
// settings: my-ext reads MY_EXT_LOG_LEVEL instead. Every run of characters
// other than A-Z and 0-9 becomes one "_", and EXT_ goes in front when the
// result would not start with a letter, because Lambda refuses variable
// names that do not: 1password reads EXT_1PASSWORD_LOG_LEVEL.
func settingsPrefix(name string) string {
	var prefix strings.Builder
	separated := false
	for _, character := range strings.ToUpper(name) {
		if ('A' <= character && character <= 'Z') || ('0' <= character && character <= '9') {
			prefix.WriteRune(character)
			separated = false
		} else if !separated {
			prefix.WriteByte('_')
			separated = true
		}
	}
	prefix.WriteByte('_')
	result := prefix.String()
	if result[0] < 'A' || result[0] > 'Z' {
		result = "EXT_" + result
	}
	return result
}
