"""Credit model work: matured credit outcomes now; development samples, scorecard fitting and
monitoring later. Reads the book (accounts) and the policy (decisions); nothing in those apps
imports this one."""
