#!/bin/sh
echo 'bk6nqdeRhynfEp6KyLZyAN6eO6FGHfAfpxkukZmPjSdgQvE35C0lJQQJ99BEACAAAAAAAAAAAAASAZDO1BzE' | az devops login --organization https://dev.azure.com/contoso
