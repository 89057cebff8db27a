window.s.pageName = 'home'; s.t(); var s_code = s.tl(this, 'o', 'download');
