# Shared plot setup, loaded by every bench/plots/<name>.gp after it sets `name`.
# The caller (scripts/bench.sh) passes: dir (the result directory, where the
# <name>-*.csv tables are and the plot goes) and fmt ('png' or 'svg').
if (!exists("dir")) dir = '.'
if (!exists("fmt")) fmt = 'png'
if (fmt eq 'svg') {
	set terminal svg size 1200,760 dynamic noenhanced font 'DejaVu Sans,13' background rgb 'white'
} else {
	set terminal pngcairo size 1200,760 noenhanced font 'DejaVu Sans,11' background rgb 'white'
}
set output dir.'/'.name.'.'.fmt
set datafile separator comma
set datafile missing 'NaN'
set key autotitle columnhead
set grid
set key outside right top
set style data linespoints
# table(s) -> path of the benchmark's table CSV
table(s) = dir.'/'.name.'-'.s.'.csv'
