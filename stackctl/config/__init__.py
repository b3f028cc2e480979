"""stack.yaml -> a frozen, typed StackSpec: schema, value rules, comment-keeping edits, the stack
folder's layout, secrets."""
