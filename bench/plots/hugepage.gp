# hugepage: 2M retention over 4K punch + re-fault churn, and what the churn costs.
# Tables: hugepage-retention.csv (churn_fraction, one % column per backing, model),
#         hugepage-cost.csv (churn_fraction, ns per churned page of each step per backing).
name = 'hugepage'
load plots.'/common.gp'

# Churn 0 cannot sit on a log axis: those rows are skipped (retention there is the populate check).
pos(x) = x > 0 ? x : NaN

set multiplot layout 1,2 title 'hugepage: 2M backing left after churning random 4K pages (punch + re-fault)'
set logscale x
set xtics ('0.001%%' 1e-5, '0.01%%' 1e-4, '0.1%%' 1e-3, '1%%' 0.01, '10%%' 0.1, '100%%' 1)
set xrange [3e-5:1.5]
set xlabel 'churn: share of the 4K pages punched + re-faulted (log scale)'
set mxtics 10

# ---- retention --------------------------------------------------------------------------
set title 'retention (median of repetitions)'
set key at graph 0.99, graph 0.84 right top box opaque samplen 3
set ylabel '2M-backed share of the memory (%)'
set yrange [-3:105]
set ytics 10
# 1/512 = one 4K punch per 2M region on average.
set arrow 1 from 1.0/512, graph 0 to 1.0/512, graph 1 nohead dt 3 lc rgb '#808080'
set label 1 '1 punch per 2M' at 1.0/512, graph 0.6 left offset 0.5,0 tc rgb '#606060'
set arrow 2 from graph 0, first 90 to graph 1, first 90 nohead dt 2 lc rgb '#c00000'
set arrow 3 from graph 0, first 50 to graph 1, first 50 nohead dt 2 lc rgb '#c00000'
set label 2 '90%' at graph 0, first 90 left offset 0.5,0.6 tc rgb '#c00000'
set label 3 '50%' at graph 0, first 50 left offset 0.5,0.6 tc rgb '#c00000'
plot table('retention') using (pos($1)):'anon_thp' title 'anonymous THP' lw 2 pt 7 ps 1.2 lc rgb '#1f77b4', \
     '' using (pos($1)):'shmem_thp' title 'shmem/memfd THP' lw 2 dt 4 pt 9 ps 1.6 lc rgb '#2ca02c', \
     '' using (pos($1)):'hugetlb' title 'hugetlb (a 4K punch only zeroes)' lw 2 pt 5 ps 1.0 lc rgb '#ff7f0e', \
     '' using (pos($1)):'guest_memfd' title 'guest_memfd (4K folios)' lw 2 pt 13 ps 1.2 lc rgb '#9467bd', \
     '' using (pos($1)):'model_any_punch_splits' title 'model: any punch splits its 2M' with lines lw 1 dt 2 lc rgb 'black'

# ---- cost -----------------------------------------------------------------------------------
unset arrow
unset label
set title 'cost of each churn step'
set ylabel 'punch + re-fault, ns per 4K page (log)'
set logscale y
set format y '%g'
set yrange [*:*]
set ytics auto
set key inside top right box opaque
plot table('cost') using 1:'anon_thp' title 'anonymous THP' lw 2 pt 7 lc rgb '#1f77b4', \
     '' using 1:'shmem_thp' title 'shmem/memfd THP' lw 2 pt 9 lc rgb '#2ca02c', \
     '' using 1:'hugetlb' title 'hugetlb' lw 2 pt 5 lc rgb '#ff7f0e', \
     '' using 1:'guest_memfd' title 'guest_memfd' lw 2 pt 13 lc rgb '#9467bd'
unset multiplot
