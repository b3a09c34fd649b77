# The 2M sizing page's plot (privmem-report --bench-sizing): the retention curve of every
# backing of every run, 90% and 50% marked.
# Table: sizing.csv, one block per run (gnuplot index), columns churn_fraction, anon_thp,
#        shmem_thp, hugetlb, guest_memfd, model_any_punch_splits (2M-backed %).
# The caller passes: dir, fmt, out (the file to write), nruns, label1..labelN.
name = 'sizing'
load plots.'/common.gp'
if (exists("out")) set output out
if (!exists("nruns")) nruns = 1

# Churn 0 cannot sit on a log axis: those rows are skipped (retention there is the populate check).
pos(x) = x > 0 ? x : NaN
label(i) = exists(sprintf('label%d', i)) ? value(sprintf('label%d', i)) : sprintf('run %d', i)
array bname[4] = ['anonymous THP', 'shmem/memfd THP', 'hugetlb', 'guest_memfd']
array bcolour[4] = ['#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd']
array bpoint[4] = [7, 9, 5, 13]
# Run i: solid, dashed, dotted, ... so the runs of one backing share its colour.
dash(i) = i == 1 ? 1 : i == 2 ? 2 : i == 3 ? 3 : 4

set title '2M backing left after churning random 4K pages (punch + re-fault), by backing and run'
set logscale x
set xtics ('0.001%%' 1e-5, '0.01%%' 1e-4, '0.1%%' 1e-3, '1%%' 0.01, '10%%' 0.1, '100%%' 1)
set xrange [3e-5:1.5]
set mxtics 10
set xlabel 'churn: share of the 4K pages punched + re-faulted (log scale)'
set ylabel '2M-backed share of the memory (%, median of repetitions)'
set yrange [-3:105]
set ytics 10
# Inside, over the empty right half (every curve there is at 0% or 100%).
set key at graph 0.99, graph 0.86 right top box opaque samplen 4 spacing 1.05
set arrow 1 from 1.0/512, graph 0 to 1.0/512, graph 1 nohead dt 3 lc rgb '#808080'
set label 1 '1 punch per 2M' at 1.0/512, graph 0.6 left offset 0.5,0 tc rgb '#606060'
set arrow 2 from graph 0, first 90 to graph 1, first 90 nohead dt 2 lw 1.5 lc rgb '#c00000'
set arrow 3 from graph 0, first 50 to graph 1, first 50 nohead dt 2 lw 1.5 lc rgb '#c00000'
set label 2 '90%' at graph 0, first 90 left offset 0.5,0.6 tc rgb '#c00000'
set label 3 '50%' at graph 0, first 50 left offset 0.5,0.6 tc rgb '#c00000'
set key noautotitle

csv = dir.'/sizing.csv'
# The model first, so that the measured curves (on it where each punch splits its region) show.
plot for [i=1:nruns] csv index (i-1) using (pos($1)):6 \
	title sprintf('%s: model, any punch splits its 2M', label(i)) with lines lw 1 dt dash(i) lc rgb 'black', \
     for [i=1:nruns] for [b=1:4] csv index (i-1) using (pos($1)):(column(b+1)) \
	title sprintf('%s: %s', label(i), bname[b]) with linespoints lw 2 dt dash(i) \
	pt bpoint[b] ps 1.1 lc rgb bcolour[b]
