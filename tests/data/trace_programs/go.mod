module labkit.local/traceprograms

go 1.22
