# fish completion for p2pchatctl (installed in fish's vendor_completions.d).
# fish accepts --opt=value for every long option that takes a value (-r).

set -l commands send tail history peers rename join leave status chat help

complete -c p2pchatctl -f
complete -c p2pchatctl -l socket -r -F -d 'control socket'
complete -c p2pchatctl -s h -l help -d 'print help and exit'
complete -c p2pchatctl -n "not __fish_seen_subcommand_from $commands" -l version -d 'print the version and exit'

complete -c p2pchatctl -n "not __fish_seen_subcommand_from $commands" -a send -d 'send a chat message'
complete -c p2pchatctl -n "not __fish_seen_subcommand_from $commands" -a tail -d 'print the last messages and follow new ones'
complete -c p2pchatctl -n "not __fish_seen_subcommand_from $commands" -a history -d 'print the stored messages in the order every node shares'
complete -c p2pchatctl -n "not __fish_seen_subcommand_from $commands" -a peers -d 'list the peers of this node'
complete -c p2pchatctl -n "not __fish_seen_subcommand_from $commands" -a rename -d "change this node's screen name"
complete -c p2pchatctl -n "not __fish_seen_subcommand_from $commands" -a join -d 'join a network through one of its peers'
complete -c p2pchatctl -n "not __fish_seen_subcommand_from $commands" -a leave -d 'say goodbye to every peer'
complete -c p2pchatctl -n "not __fish_seen_subcommand_from $commands" -a status -d "show the daemon's state"
complete -c p2pchatctl -n "not __fish_seen_subcommand_from $commands" -a chat -d 'the interactive chat room'
complete -c p2pchatctl -n "not __fish_seen_subcommand_from $commands" -a help -d 'print the help of a command'

complete -c p2pchatctl -n "__fish_seen_subcommand_from help" -a "$commands"

complete -c p2pchatctl -n "__fish_seen_subcommand_from send" -s w -l wait -d 'wait until every member stored it'
complete -c p2pchatctl -n "__fish_seen_subcommand_from tail" -s f -l follow -d 'follow new events'
complete -c p2pchatctl -n "__fish_seen_subcommand_from tail" -l no-follow -d 'print the backlog and exit'
complete -c p2pchatctl -n "__fish_seen_subcommand_from tail" -s n -l lines -x -a '10 50 100 all' -d 'events of backlog'
complete -c p2pchatctl -n "__fish_seen_subcommand_from tail" -s S -l since -x -a '10m 1h today yesterday now' -d 'from this event, time or age'
complete -c p2pchatctl -n "__fish_seen_subcommand_from tail" -s U -l until -x -a '10m 1h today yesterday now' -d 'up to this event, time or age'
complete -c p2pchatctl -n "__fish_seen_subcommand_from history" -s n -l lines -x -a '10 50 100 all' -d 'newest messages that match'
complete -c p2pchatctl -n "__fish_seen_subcommand_from history" -s S -l since -x -a '10m 1h today yesterday' -d 'sent at or after this time or age'
complete -c p2pchatctl -n "__fish_seen_subcommand_from history" -s U -l until -x -a '10m 1h today yesterday now' -d 'sent at or before this time or age'
complete -c p2pchatctl -n "__fish_seen_subcommand_from history" -l from -x -d 'by this author: name, id or its start'
complete -c p2pchatctl -n "__fish_seen_subcommand_from history" -l grep -x -d 'whose text contains this, any case'
complete -c p2pchatctl -n "__fish_seen_subcommand_from tail history peers status" -l json -d 'JSON output'
